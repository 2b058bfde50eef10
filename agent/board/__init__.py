"""The review board: a small server-rendered web page to see every take, pick one, add takes
(after a price and an explicit confirm), read the history and play the exports."""
