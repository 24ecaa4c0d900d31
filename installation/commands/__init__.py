"""One module per `art2mus` subcommand. Each has HELP, add_arguments(parser) and
run(cfg, args) -> exit code; heavy imports stay inside run() so `art2mus --help` is quick."""

# The order `art2mus --help` lists them in.
NAMES = ("demo", "run", "status", "doctor", "generate", "play", "recognize", "camera", "generator", "audio", "export", "build", "precompute", "review")
