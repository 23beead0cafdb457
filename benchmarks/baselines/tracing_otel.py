"""Tracing measurement, the exit: what the ADOT layer's wrapper sets up in the function's process before
the handler (OpenTelemetry's SDK, a batch span processor, the X-Ray propagator and the botocore
instrumentation), then the same client as tracing_none. A lower bound of ADOT's in-process cost: its
auto-instrumentation also loads every other instrumentation it finds and an OTLP exporter."""

import os
from typing import Any

from botocore.session import get_session
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
trace.set_tracer_provider(provider)
propagate.set_global_textmap(AwsXRayPropagator())
BotocoreInstrumentor().instrument(skip_dep_check=True)
dynamodb = get_session().create_client("dynamodb", region_name=os.environ["AWS_REGION"])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Only the init cost matters here."""
    return {"statusCode": 204, "body": ""}
