"""Getting artifacts into the bucket: ``url_policy`` (which URLs may be fetched), ``transfer`` (streamed
multipart copies), ``small_download``, ``fetch`` (refresh an expired URL, then copy), the archivers
(``recordings``, ``session_artifacts``), ``report`` (their logs and metrics) and ``keys`` (object keys)."""
