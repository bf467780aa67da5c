"""Today's judge leaderboards run with their own protocols and files: AlpacaEval 2.0 and Arena-Hard-Auto.

Each bench reads and writes its upstream project's file layout as it is, so a folder from its tool gives the
same table here and ours in its tool. Imports point one way: these modules use engines/ and the core, and the
command line calls them.
"""
