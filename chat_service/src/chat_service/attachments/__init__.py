"""Files sent in messages: uploaded first, then named by the message that carries them."""
