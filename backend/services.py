"""The services of one Edge process, built once by the app factory and shared by routes
and workers (`app.state.services`)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.agent.bus import TaskBus
from backend.agent.service import AgentService
from backend.agent.store import TaskStore
from backend.auth.store import UserStore
from backend.config.service import ConfigService
from backend.core_client import CoreClient
from backend.ledger.store import LedgerStore
from backend.memory.service import MemoryService
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.tools.service import ToolService
from backend.tools.sources import ToolSources


@dataclass
class Services:
    """Everything a route needs."""

    settings: EdgeSettings
    db: Database
    ledger: LedgerStore
    users: UserStore
    tasks: TaskStore
    agent: AgentService
    bus: TaskBus
    tools: ToolService
    tool_sources: ToolSources
    config: ConfigService
    core: CoreClient
    memory: MemoryService
