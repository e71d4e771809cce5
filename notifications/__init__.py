"""Notifications: compose e-mail, SMS and in-app texts from the rules' events, and send the outbox.

`workflow/` writes the outbox rows inside the transaction of each cause; this package renders them
(Jinja templates under `notifications/templates/<zh|en>/`), hands them to the channels (SMTP, the SMS
gateways) from the dispatcher job of the scheduler process, and serves the pages' queries. It reads
`workflow/` and never imports `webapp/`.
"""
