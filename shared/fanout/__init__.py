"""From the bus to the consumers: ``routing`` (which events reach which queue, read by the CDK stack
and by local mode) and ``records`` (the SQS record a consumer receives)."""
