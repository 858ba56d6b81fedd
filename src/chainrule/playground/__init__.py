"""``chainrule playground``: a page in the browser that trains chainrule's engine live.

The server (Starlette on uvicorn, the ``playground`` extra) trains one network per tab with the
engine's own layers, losses, penalties and optimizers, and sends what the page draws: the
decision boundary, each neuron's map, the weights, the loss curves and, for a clicked weight, the
chain rule's numbers beside a numerical derivative. The page only draws.

Rooms: ``settings.py`` (the URL hash's keys, checked), ``datasets.py`` and ``upload.py`` (the
points), ``features.py`` (what the network sees), ``network.py`` (the engine's pieces),
``session.py`` (a run, trained with the notes' loop), ``pictures.py`` (what is drawn),
``chain.py`` (the chain rule for one weight), ``connection.py`` (one tab's WebSocket),
``security.py`` (Host and Origin checks), ``server.py`` (the application and the server) and
``static/`` (the page).
"""
from .features import feature_names, transform
from .server import create_app
from .settings import Settings, SettingError, parse_settings

__all__ = ["create_app", "Settings", "SettingError", "parse_settings", "feature_names", "transform"]
