#!/bin/sh
# Trivial player for the benchmark: does nothing and exits.
exit 0
