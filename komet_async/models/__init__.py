"""The attrs models of the Komet Sales API (frozen, snake_case fields, tuples for lists)."""

from .customers import Customer, CustomerUpdate
from .products import Product
from .standing_orders import Breakdown, CustomField, StandingOrder, StandingOrderDetail

__all__ = [
    "Breakdown",
    "CustomField",
    "Customer",
    "CustomerUpdate",
    "Product",
    "StandingOrder",
    "StandingOrderDetail",
]
