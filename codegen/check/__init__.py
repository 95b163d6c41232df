"""`layoutgen check`: the drift gate. Each step lives in its own module here."""
