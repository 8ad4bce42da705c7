"""The whistle app for the webhook bench, as `whistle web` serves it: JSON logs at INFO (one line per message)."""

import logging

from bot.app import create_app
from bot.logs import setup_logging

setup_logging(logging.INFO)
app = create_app()
