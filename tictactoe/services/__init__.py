"""What a player can do (start a game, move, chat, play another person), once, for every door to call."""
