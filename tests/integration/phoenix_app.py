"""A small production app traced into Phoenix, run by the Phoenix virtualenv's Python (not ours): each ticket is
handled inside a CHAIN span, and the OpenAI call within it is traced by `openinference-instrumentation-openai`.

    python phoenix_app.py PHOENIX_URL PROJECT MODEL_BASE_URL MODEL SYSTEM_PROMPT < tickets (one a line)

Prints one JSON line per ticket: {"input", "output"}.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    phoenix_url, project, base_url, model, system = sys.argv[1:6]
    import openai
    from openinference.instrumentation.openai import OpenAIInstrumentor
    from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes
    from phoenix.otel import register

    provider = register(project_name=project, endpoint=f"{phoenix_url}/v1/traces", protocol="http/protobuf",
                        batch=False, set_global_tracer_provider=False, verbose=False)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    tracer = provider.get_tracer("promptlearn-test-app")
    client = openai.OpenAI(base_url=base_url, api_key="sk-local-placeholder")
    for ticket in (line.strip() for line in sys.stdin):
        if not ticket:
            continue
        with tracer.start_as_current_span("handle_ticket", attributes={
                SpanAttributes.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.CHAIN.value,
                SpanAttributes.INPUT_VALUE: ticket}) as span:
            reply = client.chat.completions.create(
                model=model, temperature=0, max_tokens=8,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": ticket}])
            output = reply.choices[0].message.content or ""
            span.set_attribute(SpanAttributes.OUTPUT_VALUE, output)
        print(json.dumps({"input": ticket, "output": output}), flush=True)
    provider.force_flush()
    provider.shutdown()


if __name__ == "__main__":
    main()
