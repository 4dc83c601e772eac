"""Flask extensions, created here and bound to the app in ``create_app``."""

from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from .database import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()

__all__ = ["csrf", "db", "login_manager", "mail", "migrate"]
