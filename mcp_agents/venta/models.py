"""Tool argument and result models of the venta agent."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ItemPedido(BaseModel):
    producto: str = Field(description="Nombre o SKU del producto, p. ej. 'Capuccino' o 'CAF-CAP'")
    cantidad: int = Field(gt=0, description="Unidades, entero mayor que 0")


class ProductoInfo(BaseModel):
    sku: str
    nombre: str
    descripcion: str
    categoria: str
    precio: str = Field(description="Precio unitario en soles, p. ej. 'S/ 9.50'")
    precio_soles: float
    stock: int = Field(description="Unidades disponibles")


class Busqueda(BaseModel):
    productos: list[ProductoInfo]
    mensaje: str


class LineaCotizacion(BaseModel):
    sku: str
    producto: str
    cantidad: int
    precio_unitario: str
    subtotal: str
    subtotal_soles: float


class Cotizacion(BaseModel):
    items: list[LineaCotizacion]
    total: str = Field(description="Total en soles (sin delivery)")
    total_soles: float
    mensaje: str


class Pedido(BaseModel):
    codigo: str = Field(description="Código del pedido, p. ej. VKM482")
    estado: str
    nombre_cliente: str
    telefono: str
    direccion: str
    entrega: str = Field(description="'delivery' o 'recojo en tienda'")
    items: list[LineaCotizacion]
    subtotal: str
    delivery: str
    total: str
    total_soles: float
    mensaje: str
