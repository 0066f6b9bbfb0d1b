"""``python -m bassinet``: the ``bassinet`` command."""

from bassinet.cli import app

app(prog_name="bassinet")
