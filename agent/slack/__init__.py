"""The Slack bot: a second thin front end on the same conversation runtime as `reelforge chat`."""
