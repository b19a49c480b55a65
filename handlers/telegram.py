"""Telegram: the one seam between carebot and ``python-telegram-bot``, inbound and outbound.

PTB handlers turn updates into :class:`InboundMessage` and await the injected ``on_inbound``;
sends go through ``Bot.send_message``. PTB exceptions are translated here::

    Forbidden (403: blocked, kicked, deactivated)   -> RecipientOptedOut
    RetryAfter (429)                                 -> RetryableDeliveryError(retry_after)
    TimedOut, NetworkError, InvalidToken, other,
    no answer within ``timeout``                     -> RetryableDeliveryError
    BadRequest (400), ChatMigrated                   -> PermanentDeliveryError
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.helpers import create_deep_linked_url
from telegram.warnings import PTBDeprecationWarning

from outreach.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RecipientOptedOut,
    RetryableDeliveryError,
)
from outreach.ports import InboundMessage, OutboundMessage, SendResult

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
WEBHOOK_PATH = "/webhooks/telegram"
COMMANDS = ("start", "help", "privacy", "stop")
ALLOWED_UPDATES = ("message", "callback_query")

InboundHandler = Callable[[InboundMessage], Awaitable[None]]
Context = ContextTypes.DEFAULT_TYPE

# Set by process_payload for the duration of one update: PTB passes handler exceptions to error
# handlers instead of raising; ours puts them here and process_payload re-raises them, so the
# inbox row stays unprocessed.
_failures: contextvars.ContextVar[list[Exception] | None] = contextvars.ContextVar(
    "telegram_failures", default=None
)
_received_at: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "telegram_received_at", default=None
)


class TelegramChannel:
    """The Telegram bot: a ``ChannelSender`` for ``telegram:`` addresses and the update handlers.

    ``on_inbound`` may be given later (``channel.on_inbound = ...``) to break wiring cycles.
    Call :meth:`start` inside the running loop and :meth:`stop` on shutdown.
    """

    scheme = "telegram"

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        on_inbound: InboundHandler | None = None,
        *,
        timeout: float = 15.0,
    ) -> None:
        self.application = application
        self.on_inbound = on_inbound
        self._timeout = timeout
        self._add_handlers()

    @property
    def bot(self) -> Any:
        return self.application.bot

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Initialize (calls getMe), start processing, and poll when built with an updater.

        Raises a DeliveryError when Telegram cannot be reached or refuses the token.
        """
        try:
            await self.application.initialize()
            await self.application.start()
            updater = self.application.updater
            if updater is not None:
                await updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
        except TelegramError as exc:
            await self._abandon_start()
            if isinstance(exc, InvalidToken):
                raise delivery_error(exc) from None  # PTB's message quotes the token
            raise delivery_error(exc) from exc

    async def _abandon_start(self) -> None:
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        # A failed getMe leaves the bot's HTTP clients open (the Application never initialized).
        await self.application.bot.shutdown()

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    # -- inbound -----------------------------------------------------------------------------

    async def process_payload(
        self, payload: dict[str, Any], *, received_at: datetime | None = None
    ) -> None:
        """Run one stored webhook update through the PTB handlers (which call ``on_inbound``).

        ``received_at`` (the inbox row's time) stamps button presses, which carry no date.
        Raises ValueError for a payload that is not an update, and re-raises what
        ``on_inbound`` raised.
        """
        try:
            update = Update.de_json(payload, self.bot)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("malformed Telegram update") from exc
        failures: list[Exception] = []
        tokens = (_failures.set(failures), _received_at.set(received_at))
        try:
            await self.application.process_update(update)
        finally:
            _failures.reset(tokens[0])
            _received_at.reset(tokens[1])
        if failures:
            raise failures[0]

    def _add_handlers(self) -> None:
        message = filters.UpdateType.MESSAGE
        app = self.application
        for name in COMMANDS:
            app.add_handler(CommandHandler(name, self._on_command, filters=message))
        app.add_handler(MessageHandler(message & filters.TEXT & ~filters.COMMAND, self._on_text))
        # Unknown commands are passed on as text; anything else (photo, sticker) as an empty
        # body, so the conversation can ask again instead of the update being dropped.
        app.add_handler(MessageHandler(message & filters.COMMAND, self._on_text))
        app.add_handler(MessageHandler(message & ~filters.TEXT, self._on_text))
        app.add_handler(CallbackQueryHandler(self._on_callback))
        app.add_error_handler(self._on_error)

    async def _on_command(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        name = message.text.split()[0].lstrip("/").split("@")[0].lower()
        args = " ".join(context.args or [])
        command = f"/{name} {args}" if args else f"/{name}"
        await self._deliver(inbound_from_message(update, command=command))

    async def _on_text(self, update: Update, context: Context) -> None:
        await self._deliver(inbound_from_message(update))

    async def _on_callback(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        received = _received_at.get() or datetime.now(UTC)
        await self._deliver(inbound_from_callback(update, received))
        try:
            await query.answer()
        except TelegramError as exc:
            # A query answered late (after a crash) is refused by Telegram; nothing to do.
            log.info("telegram callback answer failed update=%s: %s", update.update_id, exc)

    async def _deliver(self, message: InboundMessage) -> None:
        if self.on_inbound is None:
            raise RuntimeError("TelegramChannel.on_inbound is not set")
        await self.on_inbound(message)

    async def _on_error(self, update: object, context: Context) -> None:
        """PTB hands every handler exception here instead of raising it."""
        failures = _failures.get()
        if failures is not None and isinstance(context.error, Exception):
            failures.append(context.error)  # process_payload re-raises it
            return
        # Polling mode: log ids and the error's type, never the update.
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update=%s failed: %s", update_id, type(context.error).__name__)

    # -- outbound ----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        chat_id = chat_id_of(message.address)
        try:
            async with asyncio.timeout(self._timeout):
                sent = await self.bot.send_message(
                    chat_id, message.body, reply_markup=keyboard(message.buttons)
                )
        except _TRANSLATED as exc:
            raise delivery_error(exc) from exc
        log.info("telegram message sent id=%s key=%s", sent.message_id, message.idempotency_key)
        return SendResult(provider_id=str(sent.message_id), status="sent")

    async def edit_text(
        self,
        address: str,
        message_id: str | int,
        text: str,
        buttons: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Replace a sent message's text (and buttons; none removes them), e.g. "acknowledged"."""
        chat_id = chat_id_of(address)
        try:
            async with asyncio.timeout(self._timeout):
                await self.bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=int(message_id),
                    reply_markup=keyboard(buttons),
                )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            raise delivery_error(exc) from exc
        except _TRANSLATED as exc:
            raise delivery_error(exc) from exc

    async def username(self) -> str:
        """The bot's @username (from getMe), for invite links."""
        try:
            async with asyncio.timeout(self._timeout):
                me = await self.bot.get_me()
        except _TRANSLATED as exc:
            raise delivery_error(exc) from exc
        return str(me.username)

    async def invite_link(self, code: str) -> str:
        """``https://t.me/<bot>?start=<code>``: opening it sends ``/start <code>``."""
        return str(create_deep_linked_url(await self.username(), code))

    async def set_webhook(self, url: str, secret_token: str) -> None:
        """Ask Telegram to post updates to ``url`` with ``X-Telegram-Bot-Api-Secret-Token``."""
        try:
            async with asyncio.timeout(self._timeout):
                await self.bot.set_webhook(
                    url=url, secret_token=secret_token, allowed_updates=list(ALLOWED_UPDATES)
                )
        except _TRANSLATED as exc:
            raise delivery_error(exc) from exc


def build_telegram(
    token: str,
    *,
    api_base_url: str = DEFAULT_API_BASE_URL,
    on_inbound: InboundHandler | None = None,
    polling: bool = False,
    timeout: float = 15.0,
) -> TelegramChannel:
    """A TelegramChannel talking to ``api_base_url`` (the Bot API root, without ``/bot``).

    Without ``polling`` there is no updater: updates arrive through our own webhook route.
    """
    root = api_base_url.rstrip("/")
    builder = (
        ApplicationBuilder().token(token).base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
    )
    if not polling:
        builder = builder.updater(None)
    return TelegramChannel(builder.build(), on_inbound, timeout=timeout)


def inbound_from_message(update: Update, command: str | None = None) -> InboundMessage:
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        raise ValueError("update carries no message")
    raw = {"update_id": str(update.update_id), "message_id": str(message.message_id)}
    raw["chat_type"] = str(chat.type)
    if message.text is None:
        raw["content"] = "non_text"
    if message.from_user is not None:
        raw["user_id"] = str(message.from_user.id)
    return InboundMessage(
        channel="telegram",
        address=f"telegram:{chat.id}",
        body=message.text or "",
        external_id=str(update.update_id),
        received_at=message.date,
        command=command,
        raw=raw,
    )


def inbound_from_callback(update: Update, received_at: datetime) -> InboundMessage:
    query = update.callback_query
    if query is None:
        raise ValueError("update carries no callback query")
    data = query.data or ""
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    raw = {"update_id": str(update.update_id), "callback_query_id": str(query.id)}
    raw["user_id"] = str(query.from_user.id)
    if query.message is not None:
        raw["message_id"] = str(query.message.message_id)
    return InboundMessage(
        channel="telegram",
        address=f"telegram:{chat_id}",
        body=data,
        external_id=str(update.update_id),
        received_at=received_at,
        command=f"callback:{data}",
        raw=raw,
    )


def keyboard(buttons: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup | None:
    """(label, callback data) pairs as one row of inline buttons; None without buttons."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]]
    )


def chat_id_of(address: str) -> int:
    """``telegram:123456`` → ``123456`` (group chats are negative)."""
    scheme, _, rest = address.partition(":")
    try:
        if scheme != "telegram":
            raise ValueError(scheme)
        return int(rest)
    except ValueError:
        raise PermanentDeliveryError(
            "not a Telegram chat address", code="invalid_address"
        ) from None


_TRANSLATED = (TelegramError, TimeoutError)


def delivery_error(exc: BaseException) -> DeliveryError:
    """Translate what PTB raised (one of ``_TRANSLATED``) into carebot's delivery error."""
    if isinstance(exc, Forbidden):
        return RecipientOptedOut(f"Telegram refused: {exc}", code="403", status=403)
    if isinstance(exc, RetryAfter):
        return RetryableDeliveryError(
            "Telegram flood control", code="429", status=429, retry_after=retry_after_of(exc)
        )
    if isinstance(exc, ChatMigrated):
        return PermanentDeliveryError("the chat became a supergroup", code="chat_migrated")
    if isinstance(exc, BadRequest):
        return PermanentDeliveryError(f"Telegram refused: {exc}", code="400", status=400)
    if isinstance(exc, TimedOut | TimeoutError):
        return RetryableDeliveryError("Telegram did not answer in time", code="timeout")
    if isinstance(exc, InvalidToken):
        return RetryableDeliveryError("Telegram rejected the bot token", code="invalid_token")
    if isinstance(exc, NetworkError):
        return RetryableDeliveryError(f"could not reach Telegram: {exc}", code="network")
    return RetryableDeliveryError(f"Telegram error: {type(exc).__name__}", code="telegram")


def retry_after_of(exc: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds, int or timedelta (``PTB_TIMEDELTA``).

    PTB 22 warns on every read of the attribute unless ``PTB_TIMEDELTA`` is set; the value is
    what we need, the warning is about its future type, which is handled here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
