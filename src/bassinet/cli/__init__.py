"""The ``bassinet`` command: one Typer app, its commands in the modules of this package.

Thin: each command parses its options, calls one function of the application layer
(:mod:`bassinet.application`) as the local operator, and prints. The modules import only
:mod:`bassinet.cli._common` and the application layer, never each other; importing them
here registers their commands on ``app``, in the order ``bassinet --help`` lists them.
Nothing heavy (pandas, NumPy, SciPy, SQLAlchemy, Matplotlib) is imported until a command
runs, so ``bassinet --help`` and ``bassinet --version`` start at once.
"""

# isort: off
from bassinet.cli._common import app, main
from bassinet.cli import registry  # init, import, export, audit, patients, demo, stratify, randomise, ...
from bassinet.cli import simulate  # `bassinet simulate`
from bassinet.cli import access  # `bassinet users` and `bassinet tokens`
from bassinet.cli import design  # `bassinet design`
from bassinet.cli import exchange  # export-as, exports, deidentify-key, import-redcap, import-fhir
from bassinet.cli import federate  # `bassinet federate`
from bassinet.cli import records  # correct, delete, merge, move
from bassinet.cli import quality  # `bassinet quality check`
from bassinet.cli import report  # `bassinet report` and `bassinet endpoints`
from bassinet.cli import web  # `bassinet serve`

# isort: on

__all__ = [
    "access",
    "app",
    "design",
    "exchange",
    "federate",
    "main",
    "quality",
    "records",
    "registry",
    "report",
    "simulate",
    "web",
]
