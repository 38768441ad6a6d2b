"""The order in which features see an update. python-telegram-bot tries handler groups from
the lowest number up, and in each group runs the first handler that matches; a handler that
raises ApplicationHandlerStop ends the update there."""

# Each group below has its own number: two features in one group would shadow each other
# (a handler that matches but lets the update go on still ends that group's turn).

# The staff group's messages: taken by the hand-off before anything else, never questions.
STAFF_CHAT = -4
# A user over the flood limit stops here (one notice, then silence for a while).
FLOOD_GATE = -3
# An admin's message while an /edit waits for the new answer: taken there, never a question
# (also when it is a Telegram reply to the desk's prompt).
PENDING_EDITS = -2
# A reply to one of a ticket's messages goes to staff and stops there; any other message
# goes on to the answers.
TICKET_REPLIES = -1
# Commands, buttons, questions: each feature's handlers, then answering's catch-alls.
ANSWERS = 0
# After the answer of the same update: offers and bookkeeping (announcements).
AFTER_ANSWER = 10
AFTER_ANSWER_LATE = 11
