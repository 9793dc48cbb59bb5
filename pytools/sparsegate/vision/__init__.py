"""Pixels in and boxes out: images turned into model inputs by a model's `preprocess` metadata
(`images`), and detector outputs decoded into boxes by its `detector` metadata (`detect`)."""
