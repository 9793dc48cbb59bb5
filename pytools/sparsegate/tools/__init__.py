"""What a user runs from a shell: the `sparsegate` CLI and its commands that serve, benchmark
and report (`cli`, `train_cli`, `serve`, `bench`, `gating_bench`, `report`)."""
