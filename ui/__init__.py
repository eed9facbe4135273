"""Web UI (Gradio) for the policy-document assistant: ``rag serve`` starts it."""
