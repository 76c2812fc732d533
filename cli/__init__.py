"""The command line's parts, one module per area, registered on main.py's app (which keeps the daemon,
intake and the database commands). Each is a thin adapter over the service functions in models/ and
the channels: a command parses its options, calls one function, prints the result."""
