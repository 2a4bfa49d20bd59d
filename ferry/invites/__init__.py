"""Sending the invitations the load queued (`ferry invites send`, docs/CONTRACT.md §13).

One module per concern, each plain functions a test can call:
- `render`   the client's language, the registration link, the multipart e-mail (templates/)
- `queue`    the delivery states in the target: claim, finish, renew, release, counts
- `channels` SMTP and RabbitMQ, and which failures are transient, permanent or fatal
- `send`     the relay: claim, render, deliver with retries and a rate, record, once each
- `evidence` the send run's folder and its rows in the analysts' warehouse
"""
