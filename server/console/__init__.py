"""The admin console: server-rendered pages for admins, leaders and inspectors."""
