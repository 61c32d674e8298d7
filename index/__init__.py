"""The retrieval engine: documents, chunks, embeddings, search and answers (no Discord here)."""
