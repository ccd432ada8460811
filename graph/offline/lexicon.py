"""Spanish vocabulary of the offline router: weighted agent terms, small talk, business topics."""

import re

# (class, weight, patterns). A pattern ending in "*" is a stem (prefix); any other is a word
# (its plural is accepted). Matching is on phonetic keys, with one typo allowed for long terms.
# Classes are the agents, "price" (a price question: sales unless booking) and "esc" (asks for a
# human or complains: always escalated).
TERMS: tuple[tuple[str, int, str], ...] = (
    (
        "reserva",
        3,
        "reserv* mesa cancha habitacion* suite bungalow cabana masaj* spa sauna "
        "jacuzzi auditorio hosped* hospedaje alojamiento estadia comensales "
        "huesped* bookear padel",
    ),
    (
        "reserva",
        2,
        "separ* aparta* alquil* rentar cuarto salon sala piscina terraza karaoke "
        "futbol fulbito voley basquet hotel hostal event* asiento butaca tour "
        "checkin",
    ),
    (
        "reserva",
        1,
        "persona adulto noche cumpleanos parrilla turno cupo disponib* facial "
        "entrada manicure pedicure clase agend*",
    ),
    (
        "cita",
        4,
        "cita doctor doctora medico medica dentista odontolog* nutricion* psicolog* "
        "sicolog* psiquiatra terapeuta fisioterapeuta pediatra obstetra especialista "
        "abogad* veterinari* ortodoncia dental demo demostracion*",
    ),
    ("cita", 3, "reunion* asesor* entrevista videollamada consultor* contador arquitecto"),
    (
        "cita",
        2,
        "agend* evaluacion chequeo visita sesion terapia fisioterapia diagnostico "
        "vacuna ecografia cirugia endodoncia brackets zoom profesional ingeniero "
        "tecnico instalacion mantenimiento inspeccion muela diente dolor duele "
        "sintoma* fiebre lesion",
    ),
    (
        "cita",
        1,
        "consult* turno cupo disponib* control examen tratamiento llamada llamar "
        "atender coordinar facial manicure pedicure clase mascota perro perrito gato "
        "gatito",
    ),
    ("price", 3, "precio* cuesta cuestan costo* costaria cotiz*"),
    ("price", 2, "tarifa*"),
    (
        "venta",
        3,
        "compra* compro compre compren vende* vendo venta product* catalog* stock "
        "pedid* descuent* adquirir mayorista talla*",
    ),
    (
        "venta",
        2,
        "pedir ordenar oferta* promo* rebaja* liquidacion presupuesto carrito "
        "inventario unidad docena suscrip* membresia mensualidad matricul* inscri* "
        "soles carta menu plato combo* articulo* mercaderia pack polo ropa zapatill* "
        "zapato laptop perfume repuesto* interesa*",
    ),
    (
        "venta",
        1,
        "orden pido kilo color* modelo* marca plan paquete* boleta factura* celular "
        "crema curso garantia accesorio* llevar manejan taller foto* "
        "entrada gimnasio",
    ),
    (
        "esc",
        1,
        "reclam* queja quejarme quejar denunci* indecopi estafa* humano humana operador* reembols*",
    ),
)

# Tokens that look like a term but are not (checked on the phonetic key, as prefixes).
EXCLUDED_PREFIXES: tuple[str, ...] = (
    "bendes",
    "bendis",
    "presiosa",
    "presioso",
    "aparte",
    "separasion",
    "konsultorio",
)

# Frequent words never "corrected" into a term by the one-typo rule.
COMMON_WORDS: frozenset[str] = frozenset(
    "tenia tenian preciso vence vences mismo misma cosas cosa quiero quisiera puedo pueden "
    "podria tiene tienen tengo estoy estan esta este estos hacer hacen manana tarde noche "
    "semana ahora donde cuando como cuanto cuantos cuantas personas gracias buenas buenos "
    "hola saludos favor perfecto listo correo numero nombre horas minutos quieres queria "
    "pasado proximo primero primera segunda juntos juntas otros otras nuestro nuestra medio "
    "mejor despues antes siempre tambien porque seria serian dolor valor mayor menor media "
    "medias medio mediodia medida compartir sentir sentido".split()
)

# Phrases that add to (or take from) an agent's score, read on the normalized text.
PHRASES: tuple[tuple[str, int, str], ...] = (
    (
        "price",
        3,
        r"\b(cuanto|que precio) (me )?(cuesta|cuestan|esta|estan|sale|salen|vale|valen"
        r"|cobran|cobras|es|son|seria|serian|costaria|cobrarian)\b",
    ),
    ("price", 3, r"\ba cuanto\b|\bcuanto (por|el|la|los|las|cada)\b(?! (tiempo|rato|demora))"),
    ("venta", 3, r"\b(al )?por (mayor|menor)\b|\bpara llevar\b"),
    (
        "venta",
        2,
        r"^(y |hola,? |buenas,? )?(tienen|tiene|tendran|venden|vende|manejan) "
        r"(el |la |los |las |un |una |algun |alguna )?\w+",
    ),
    (
        "venta",
        2,
        r"\b(lo|la|los|las) (quiero|compro|llevo|separo)\b"
        r"|\b\d+ ?(kg|kilos?|gr|gramos|docenas?|cajas?|paquetes?|litros?|lt|ml|mts)\b",
    ),
    (
        "reserva",
        3,
        r"\bcheck ?(in|out)\b"
        r"|\b(hay|habra|tienen|tendran|queda) (sitio|lugar|espacio|mesa)s?\b",
    ),
    (
        "esc",
        1,
        r"\bme (cobraron|cobran|cobro) (dos veces|doble|de mas|demas)\b"
        r"|\b(cobro|cargo) (doble|indebido|duplicado)\b"
        r"|\b(mi|la|el) (plata|dinero) de vuelta\b"
        r"|\bdevuelv\w* (mi|el|la) (plata|dinero|pago)\b",
    ),
    (
        "cita",
        -1,
        r"\b(tengo|tenia|hacer|hacerles|hacerte|hacerle) (una|otra) consulta\b"
        r"|\bconsulta( (rapida|sobre|acerca|breve|corta)\b|$)",
    ),
)

SPEAK_TO_HUMAN = re.compile(
    r"\b(habl\w*|comunic\w*|contact\w*|convers\w*|transfer\w*|deriv\w*|llamar?\w*|pasa|pasame"
    r"|pasen|pasar|pasarme|atienda|atiendan)\b(?: \w+){0,4}? (persona|humano|humana|asesor\w*"
    r"|encargad[oa]s?|gerente|supervisor\w*|administrador\w*|alguien|agente|operador\w*"
    r"|ejecutiv[oa]s?|representante|responsable|dueno|duena|jefe|jefa|personal|recepcion\w*"
    r"|vendedor\w*|especialista)\b"
    r"|\b(persona real|persona de verdad|ser humano|con (el|la|un|una) (encargad[oa]|gerente"
    r"|administrador[a]?|dueno|duena|supervisor[a]?|jefe|jefa))\b"
    r"|\blibro de reclamaciones\b|\bme cobraron (de mas|doble)\b|\bcobro indebido\b"
    r"|\b(pesimo|mal|malisimo) (servicio|trato)\b|\bmala (atencion|experiencia)\b|\bme estafaron\b"
    r"|\bestoy (muy |super |bien )?(molest[oa]|indignad[oa]|furios[oa]|hart[oa]|decepcionad[oa]"
    r"|insatisfech[oa])\b|\bdevuelvan (mi|el|la) (dinero|plata|pago|importe)\b"
    r"|\b(me|nos) (atendio|atendieron|trato|trataron) (muy )?mal\b|\bmal atendid[oa]s?\b"
)
# A "talk to an advisor" that is really a meeting request (not an escalation).
ADVISOR_NOUN = re.compile(r"\b(asesor\w*|ejecutiv[oa]s?|vendedor\w*|especialista)\b")
SCHEDULING = re.compile(r"\b(cita|reunion|demo|agendar|programar|consulta|cotiza\w*|comprar)\b")

INJECTION = re.compile(
    r"\b(ignora\w*|olvida\w*|omite|ignore|forget|disregard)\b.{0,40}\b(instrucciones|instruccion"
    r"|reglas|prompt|indicaciones|sistema|anterior|instructions)\b|\bprompt\b|\bjailbreak\b"
    r"|\bmodo (desarrollador|dios|developer)\b|\bsystem message\b"
)

GREETING = re.compile(
    r"\b(hola|hey|alo|saludos|buen(os|as)? (dia|dias|tarde|tardes|noche|noches)|buenas|buenos"
    r"|que tal|como (estas|esta|estan|te va|le va|les va|va)|estimad[oa]s?"
    r"|feliz (navidad|ano nuevo|ano)|felices fiestas|prospero ano)\b"
)
FAREWELL = re.compile(
    r"\b(chau|adios|hasta (luego|pronto|manana|la proxima|mas tarde|otro momento|otra)"
    r"|nos vemos|nos hablamos|que (tengas|tenga|tengan) (un )?(buen|bonito|lindo|excelente"
    r"|feliz) (dia|tarde|noche|fin de semana)|cuidate|cuidese|bendiciones"
    r"|feliz (dia|tarde|noche))\b"
)
THANKS = re.compile(r"\b(gracias|agradezco|agradecid[oa]s?|muy amables?|te pasaste|se agradece)\b")
CLOSING = re.compile(
    r"\b(eso (es|seria|era|nomas|no mas) (todo|nomas)|es todo|seria todo|nada mas|no (gracias"
    r"|nada|necesito nada)|ya no (necesito|deseo) nada)\b"
)
AFFIRM = re.compile(
    r"\b(si|ok|listo|dale|claro|perfecto|correcto|exacto|confirmo|confirmado|de acuerdo|va|ya"
    r"|bueno|genial|excelente|chevere|super|entendido|vale|no|okey|jaja|oh|ah|h?m+|aja)\b"
)
FILLER = re.compile(
    r"\b(por favor|muchas|muchisimas|mil|bien|muy|todo|todos|senor|senora|senorita|joven|amig[oa]"
    r"|hermano|bro|igualmente|tambien|a|de|la|el|lo|por|su|sus|tu|te|le|les|que|eso|esto|y|e"
    r"|ustedes|usted|info|informacion|ayuda|ayudarme|atencion|respuesta|pronta|rapida|amables?"
    r"|equipo|dia|tarde|noche|igual|para|ti|me|mucho|entonces|nomas)\b"
)

# Business-question topics, read on the normalized message ("mi X" removed first).
TOPIC_QUESTIONS: tuple[tuple[str, str], ...] = (
    (
        "hours",
        r"\b(horarios?|horas? de atencion|abren|abre|abriran|abiert[oa]s?|cierran|cierra"
        r"|atienden|hasta que hora|desde que hora|que dias (atienden|trabajan|abren)"
        r"|trabajan (hoy|los|el|feriados?|domingos?|sabados?))\b",
    ),
    (
        "location",
        r"\b(donde (estan|esta|queda|quedan|se ubican|se encuentran|los encuentro"
        r"|lo encuentro|es el local|es la tienda|atienden|es)|ubicad[oa]s?|ubicacion"
        r"|direccion|como (llego|llegar|llegamos)|en que (distrito|zona|parte|lugar"
        r"|ciudad)|sucursal\w*|sedes?|tienda fisica|local fisico|tienen local"
        r"|referencia|mapa|google maps|cerca (a|al|de)"
        r"|(su|el) (local|tienda|oficina) (esta|queda))\b",
    ),
    (
        "parking",
        r"\b(estacionamiento|estacionar|parking|cochera|parqueo|parquear"
        r"|dejar (el|mi) (carro|auto|moto))\b",
    ),
    (
        "contact",
        r"\b(telefono|whatsap\w*|wasap|numero de (contacto|telefono|celular|whatsap)"
        r"|(su|tu|sus) (numero|celular|correo|email|mail|pagina|web|facebook|instagram)"
        r"|cual es (el|su) (numero|celular|correo)|pagina web|redes sociales|facebook"
        r"|instagram|tiktok|como (los|las) (contacto|llamo))\b",
    ),
    (
        "about",
        r"\b(que (es lo que )?(hacen|ofrecen|brindan)|a que se dedican|quienes son"
        r"|que (es|son) (esto|ustedes|esta empresa)|que servicios|sus servicios"
        r"|que tipo de (servicios?|negocio|empresa|comida)|de que se trata"
        r"|en que (me )?pueden ayudar|que (me )?pueden ofrecer)\b",
    ),
    (
        "payment",
        r"\b(yape|yapear|yapeo|plin|tarjetas?|visa|mastercard|efectivo|transferencias?"
        r"|deposito|paypal|(medios?|metodos?|formas?) de pago|pagos?|pagar)\b",
    ),
    (
        "delivery",
        r"\b(delivery|deliveri|envios?|envian|envias|reparto|reparten|despacho"
        r"|despachan|courier|olva|shalom|rapi|a domicilio|recojo|cobertura"
        r"|hasta donde llegan)\b",
    ),
)
SALES_TOPICS: frozenset[str] = frozenset({"payment", "delivery"})

# What a context sentence about each topic looks like (read on the accent-free sentence).
TOPIC_SENTENCES: tuple[tuple[str, str], ...] = (
    (
        "hours",
        r"\b(horarios?|horas?|abiert[oa]s?|cerrad[oa]s?|atencion|atendemos|lunes|martes"
        r"|miercoles|jueves|viernes|sabados?|domingos?|feriados?|\d{1,2}:\d{2}"
        r"|\d{1,2} ?(am|pm|hrs?))\b",
    ),
    (
        "location",
        r"\b(direccion|ubicad[oa]s?|ubicacion|av|avenida|jr|jiron|calle|pasaje|urb"
        r"|cuadra|distrito|local|sede|sucursal|frente|esquina|altura|referencia|km"
        r"|mz|plaza|centro comercial)\b",
    ),
    ("parking", r"\b(estacionamiento|parking|cochera|parqueo)\b"),
    (
        "contact",
        r"\b(telefono|celular|whatsapp|correo|email|contacto|llamar|llamanos"
        r"|escribenos|9\d{8}|web|facebook|instagram)\b|@",
    ),
    (
        "about",
        r"\b(somos|ofrecemos|brindamos|especialistas?|especializad[oa]s?|dedicamos"
        r"|empresa|servicios?)\b",
    ),
    (
        "payment",
        r"\b(pagos?|pagar|yape|plin|tarjetas?|visa|mastercard|efectivo"
        r"|transferencias?|aceptamos|deposito)\b",
    ),
    (
        "delivery",
        r"\b(delivery|envios?|enviamos|reparto|despacho|courier|rappi|domicilio"
        r"|cobertura|recojo)\b",
    ),
)

STOPWORDS: frozenset[str] = frozenset(
    "de del la el los las y o u e con en por para un una unos unas sobre a al lo su sus mi mis "
    "temas tema casos caso que se es son como".split()
)
# Topic words too broad to trigger an escalation topic on their own.
GENERIC_TOPIC_WORDS: frozenset[str] = frozenset(
    "libro tema temas caso casos asunto asuntos solicitud solicitudes consulta consultas "
    "informacion relacionado relacionados relacionadas".split()
)
# A price question goes to sales unless the user also asks to book or schedule something.
BOOKING_STEMS: tuple[str, ...] = (
    "reserb",
    "separ",
    "apartar",
    "ajend",
    "program",
    "reprogram",
    "kansel",
    "anul",
    "saka",
)
# Explicit opening-hours questions (a bare "horario" while booking is about free slots).
OPENING_HOURS = re.compile(
    r"\b(abren|abre|abriran|abiert[oa]s?|cierran|cierra|atienden|horarios? de atencion"
    r"|hasta que hora|desde que hora|que dias (atienden|trabajan|abren)|trabajan)\b"
)
