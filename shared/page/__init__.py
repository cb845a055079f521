"""The session page: one self-contained ``index.html`` per session (player, captions, transcript,
speaker timeline, summary, chat, artifact states), rendered from the session's derived files. Pure:
files in, bytes out; every piece of meeting content is escaped."""
