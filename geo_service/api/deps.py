"""Dependencies shared by routers: the database session, the user, recurring parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def current_user(
    x_user: Annotated[
        str | None, Header(description="Who makes the change (recorded in history).")
    ] = None,
) -> str | None:
    return x_user


# scope="function": commit before the response is sent, so a client that reads right after a
# write sees it (the default would commit after the response has gone).
DbSession = Annotated[Session, Depends(get_session, scope="function")]
DbEngine = Annotated[Engine, Depends(get_engine)]
User = Annotated[str | None, Depends(current_user)]
