from .users import LoginEvent, Team, User

__all__ = ["LoginEvent", "Team", "User"]
