"""The art2mus application: typed config, the CLI, the demo and (as they land) recognition, the
camera, generator and audio processes. Never imports torch; export/ is reached only through the
CLI's `export` command and the one-time build of the tiny demo bundle."""
