"""Acting on alerts from Slack over Socket Mode: buttons and the ``/monitor`` command.

    socket.py    the Socket Mode connection: ack at once, reconnect, close cleanly
    app.py       the connection and the handlers, started by the daemon
    actions.py   a click on an alert's button: check, record, wake delivery, answer
    decide.py    what a click does, given what the message shows (pure)
    actors.py    who may act (``slack.actors``: users and user groups)
    commands.py  ``/monitor status | mutes | test <text>``
    reply.py     ephemeral answers through ``response_url``

The buttons themselves are drawn by ``deliver/buttons.py``; the edits that show a
click are made by the delivery thread, at Slack's pace.
"""

from .app import SlackApp

__all__ = ["SlackApp"]
