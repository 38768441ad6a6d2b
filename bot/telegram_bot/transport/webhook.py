"""The webhook server: refuses a request without the secret before reading its body, and
takes no body larger than an update can be.

python-telegram-bot's own server (tornado) reads a whole body of up to 100 MB before it
looks at the secret header, so anyone who finds the address can make the bot hold
gigabytes. This one checks the headers first (tornado streams the body to a handler that
asks for it, and the server refuses a body over MAX_UPDATE_BYTES, chunked or not), then hands the
update to the application's queue, which waits while the bot has enough in hand: Telegram
gets its 200 when the update has a place (see update_flow).

`run_webhook` runs the bot on this server the way `Application.run_webhook` would: set the
webhook at Telegram, serve until SIGTERM or SIGINT, stop in order.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, TypeAlias

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import Application

from bot.telegram_bot.transport.update_flow import BoundedUpdateQueue

logger = logging.getLogger(__name__)

AnyApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]

# Telegram's updates are a few kilobytes (a message is at most 4096 characters; a long one
# with entities and a reply is some 30 KB). Anything larger is not from Telegram.
MAX_UPDATE_BYTES = 1024 * 1024
# A body that is sent slower than this is given up (a client holding connections open).
BODY_TIMEOUT_SECONDS = 10.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """POST of one update: the secret and the size are checked before the body is read."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_app: AnyApplication, secret: str) -> None:
        self.bot_app = bot_app
        self.secret = secret
        self.received = bytearray()

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_UPDATE_BYTES):
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

    def data_received(self, chunk: bytes) -> None:
        self.received.extend(chunk)

    async def post(self) -> None:
        try:
            data = json.loads(self.received)
            update = Update.de_json(data, self.bot_app.bot)
        except Exception as error:
            # The size and kind only: the body may hold a user's text and ids.
            logger.warning(
                "webhook: a %d-byte body that is not an update (%s); refused",
                len(self.received),
                type(error).__name__,
            )
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        queue = self.bot_app.update_queue
        if isinstance(queue, BoundedUpdateQueue):
            await queue.wait_for_room(1)
        if not self.bot_app.running:  # stopping: Telegram sends it again later
            raise tornado.web.HTTPError(HTTPStatus.SERVICE_UNAVAILABLE)
        await queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args: Any) -> None:
        """Refusals are expected; tornado's own log line would repeat each one."""


def make_server(
    application: AnyApplication, url_path: str, secret: str
) -> tornado.httpserver.HTTPServer:
    """The server for updates POSTed at /`url_path`, not yet listening."""
    path = "/" + url_path.strip("/")
    web_app = tornado.web.Application(
        [(re.escape(path) + "/?", UpdateHandler, {"bot_app": application, "secret": secret})],
        log_function=lambda handler: None,
    )
    return tornado.httpserver.HTTPServer(
        web_app, max_body_size=MAX_UPDATE_BYTES, body_timeout=BODY_TIMEOUT_SECONDS
    )


def run_webhook(
    application: AnyApplication,
    *,
    listen: str,
    port: int,
    url_path: str,
    webhook_url: str,
    secret_token: str,
    allowed_updates: Sequence[str],
) -> None:
    """Run until SIGTERM or SIGINT, like Application.run_webhook, on `make_server`."""
    asyncio.run(
        _serve(application, listen, port, url_path, webhook_url, secret_token, allowed_updates)
    )


async def _serve(
    application: AnyApplication,
    listen: str,
    port: int,
    url_path: str,
    webhook_url: str,
    secret: str,
    allowed_updates: Sequence[str],
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        loop.add_signal_handler(signum, stop.set)
    server = make_server(application, url_path, secret)
    async with application:  # initialize ... shutdown
        if application.post_init:
            await application.post_init(application)
        await application.bot.set_webhook(
            webhook_url, allowed_updates=list(allowed_updates), secret_token=secret
        )
        server.listen(port, address=listen)
        await application.start()
        try:
            await stop.wait()
        finally:
            server.stop()  # no new connections; requests in progress end below
            await application.stop()
            await server.close_all_connections()
            if application.post_stop:
                await application.post_stop(application)
