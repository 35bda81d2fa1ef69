"""A minimal Python program for the runtime: prints a line and exits."""
print("hello from Python")
