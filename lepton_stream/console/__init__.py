"""`lepton-stream console`: a read-only live web page of alerts, their subjects' counts and the support queues."""
