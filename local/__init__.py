"""Local mode: the whole pipeline on one machine with no AWS account. moto plays AWS (``stack``), a local
endpoint plays API Gateway (``apigw``), pollers play the SQS event sources (``pollers``, ``lambda_runtime``),
a stand-in plays RealtimeKit (``standin``, ``standin_rest``, ``signing``), and ``demo`` plays the sample
meeting (``sample_meeting``). Dev tooling only: never packaged into a Lambda, never imported by ``shared``."""
