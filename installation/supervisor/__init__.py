"""The supervisor (`art2mus run`), `art2mus status` and `art2mus doctor`."""
