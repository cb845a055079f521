"""The operator CLI (``meeting-vault``): commands against a deployed stack or local mode. Never packaged
into a Lambda; never imports moto or the local stand-ins except inside ``dev`` and ``demo``."""
