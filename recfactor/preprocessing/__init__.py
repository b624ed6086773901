"""Turn raw interaction logs into matrices, sequences and triples, and results back to raw ids."""

from ._log import decode_ids, encode_ids, log_to_matrix, log_to_sequences, log_to_triples

__all__ = ["decode_ids", "encode_ids", "log_to_matrix", "log_to_sequences", "log_to_triples"]
