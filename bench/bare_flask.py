"""The baseline for the webhook benchmark: a Flask endpoint that only answers `success`."""

from flask import Flask

app = Flask(__name__)


@app.post("/wechat")
def wechat() -> str:
    return "success"
