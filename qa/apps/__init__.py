"""The edges: CLI, Gradio chat, REST / OpenAI-compatible server, saved chats; they use the public API."""
