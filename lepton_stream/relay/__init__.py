"""Alert delivery to webhooks (`lepton-stream run relay`): targets, routing, signing, payloads, retries, DLQ."""
