"""Message types of the system (faust.Record, JSON on the wire). No I/O.

In: nothing. Out: every record class, the enums, and the strict codec's entry points.
"""

from .backtests import BacktestJob, BacktestOutcome, BacktestState, SweepEvent, SweepState
from .codec import MalformedMessage, decode_key, encode_key, loads_json, parse_bytes, parse_model, to_json
from .enums import (
    AccountAction,
    CommandKind,
    Direction,
    JobStatus,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    RequestKind,
    SessionMode,
    SessionStatus,
    Severity,
    SizingMethod,
    StrategyAction,
    SweepEventKind,
    WorkloadAction,
)
from .exposure import AccountEvent, AccountExposure, Reservation, Verdict
from .market import Candle, StrategyCandle
from .notifications import DeadLetter, Notification
from .orders import ExecutionReport, Order, OrderFill, OrderState, RawOrder, VenueEvent
from .positions import BacktestResult, InFlight, Position, Trade, TradeLog
from .sessions import (
    AutoStop,
    BacktestRange,
    FillModel,
    RiskParams,
    SessionCommand,
    SessionFeed,
    SessionRequest,
    SessionSpec,
    SessionState,
)
from .signals import Signal
from .strategies import ActiveStrategy, StrategyCommand, StrategyWindow
from .workloads import Workload, WorkloadCommand

__all__ = [
    "BacktestRange",
    "BacktestResult",
    "BacktestJob",
    "BacktestOutcome",
    "BacktestState",
    "JobStatus",
    "SweepEvent",
    "SweepEventKind",
    "SweepState",
    "TradeLog",
    "Trade",
    "InFlight",
    "VenueEvent",
    "OrderState",
    "OrderFill",
    "AccountEvent",
    "AccountAction",
    "Verdict",
    "SizingMethod",
    "Reservation",
    "OrderPurpose",
    "FillModel",
    "AccountExposure",
    "ActiveStrategy",
    "AutoStop",
    "Candle",
    "CommandKind",
    "DeadLetter",
    "Direction",
    "ExecutionReport",
    "MalformedMessage",
    "Notification",
    "Order",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "RawOrder",
    "RequestKind",
    "RiskParams",
    "SessionCommand",
    "SessionFeed",
    "SessionMode",
    "SessionRequest",
    "SessionSpec",
    "SessionState",
    "SessionStatus",
    "Severity",
    "Signal",
    "StrategyAction",
    "StrategyCandle",
    "StrategyCommand",
    "StrategyWindow",
    "Workload",
    "WorkloadAction",
    "WorkloadCommand",
    "decode_key",
    "loads_json",
    "encode_key",
    "parse_bytes",
    "parse_model",
    "to_json",
]
