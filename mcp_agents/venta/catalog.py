"""Demo catalogue of the venta agent: a Lima café and bakery (prices in céntimos of sol)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductSeed:
    sku: str
    nombre: str
    descripcion: str
    categoria: str
    precio_centimos: int
    stock: int
    palabras_clave: tuple[str, ...] = ()


PRODUCTS: tuple[ProductSeed, ...] = (
    ProductSeed(
        "CAF-AME",
        "Café americano",
        "Café pasado de Chanchamayo, 12 oz.",
        "Bebidas calientes",
        600,
        200,
        ("cafe", "americano", "tinto"),
    ),
    ProductSeed(
        "CAF-CAP",
        "Capuccino",
        "Espresso con leche espumada y canela.",
        "Bebidas calientes",
        950,
        200,
        ("capuchino", "cafe", "leche"),
    ),
    ProductSeed(
        "BEB-CHI",
        "Chicha morada 1 L",
        "Chicha morada natural de la casa.",
        "Bebidas frías",
        1200,
        40,
        ("chicha", "morada", "refresco"),
    ),
    ProductSeed(
        "BEB-INC",
        "Inca Kola 500 ml",
        "Gaseosa personal.",
        "Bebidas frías",
        350,
        120,
        ("gaseosa", "inka", "kola", "cola"),
    ),
    ProductSeed(
        "BEB-AGU",
        "Agua mineral 625 ml",
        "Agua sin gas.",
        "Bebidas frías",
        250,
        120,
        ("agua", "mineral"),
    ),
    ProductSeed(
        "POS-PIE",
        "Pie de limón",
        "Tajada de pie de limón con merengue.",
        "Postres",
        800,
        30,
        ("pie", "limon", "postre", "tajada"),
    ),
    ProductSeed(
        "POS-TOR",
        "Torta de chocolate",
        "Tajada de torta húmeda de chocolate.",
        "Postres",
        1000,
        30,
        ("torta", "chocolate", "postre", "tajada", "keke"),
    ),
    ProductSeed(
        "POS-ALF",
        "Alfajores caja x6",
        "Seis alfajores de maicena con manjar blanco.",
        "Postres",
        1500,
        25,
        ("alfajor", "alfajores", "manjar", "caja"),
    ),
    ProductSeed(
        "SAL-EMC",
        "Empanada de carne",
        "Empanada horneada de carne con aceituna.",
        "Salados",
        700,
        60,
        ("empanada", "carne"),
    ),
    ProductSeed(
        "SAL-EMP",
        "Empanada de pollo",
        "Empanada horneada de pollo.",
        "Salados",
        700,
        60,
        ("empanada", "pollo"),
    ),
    ProductSeed(
        "SAL-SAN",
        "Sándwich de pollo",
        "Pan ciabatta con pollo deshilachado y palta.",
        "Salados",
        1200,
        40,
        ("sandwich", "sanguche", "pollo", "pan"),
    ),
    ProductSeed(
        "CAF-GRA",
        "Café en grano 250 g",
        "Café de altura de Villa Rica, tostado medio.",
        "Para llevar",
        2800,
        15,
        ("cafe", "grano", "bolsa"),
    ),
)
