#!/bin/sh
# Floods its output: cut at the log cap with a marker, verdict OLE.
yes "flooding the judger with output, line after line after line"
