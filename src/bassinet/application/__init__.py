"""The application layer: use cases shared by the command line and the web application."""
