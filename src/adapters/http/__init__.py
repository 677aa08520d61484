"""The bot's own HTTP server: `/health`, `/ready`, `/metrics` and the Telegram webhook.

Starlette served by uvicorn. It knows no other adapter family: readiness and update intake are
callables the composition root injects (`bootstrap.bot`); the intake's contract is
`adapters.intake`.
"""
