"""Language detection for short texts (English or Spanish) from cheap cues."""

from __future__ import annotations

import re
from functools import lru_cache

# Common function and texting words that are not also common in the other language.
_SPANISH = frozenset(
    """
    el la los las un una unos unas de del al que y en por para con sin es esta estoy estas
    está estás están son soy fue muy mi mis me te se le lo nos su sus tengo tiene tenemos
    pero ya hoy ayer mañana manana bien mal mucho mucha poco nada algo porque pues como
    cómo qué donde dónde cuando cuándo también tambien aqui aquí ahora ahorita hace hacer
    duele dolor siento puedo puede gracias hola buenos buenas dias días noches usted ustedes
    yo tu tú él ella ellos necesito quiero favor señor señora sí creo pecho cabeza estómago
    estomago azúcar azucar presión presion pastillas medicina doctor doctora enfermera cita
    mareado mareada cansado cansada tomé tome tomo ni otra otro vez desde hasta cuánto
    nunca siempre hay han ha sido tenido estado todo toda todos nadie nada mucho muchas
    ahí allí eso esto este esta ese esa son muy cuando mejor peor tambien sangre fiebre
    """.split()
)
_ENGLISH = frozenset(
    """
    the and i is are was were my me you your it its it's i'm im to of in on at for with
    have has had do does did not don't dont can can't cant will would should could this
    that what when where how why just feel feeling today yesterday morning night pain chest
    been being get got going am be but so very really please thanks thank hi hello ok okay
    yes yeah he she his her they we our us out up about sugar pills meds doctor
    """.split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SPANISH_MARKS = re.compile(r"[ñ¿¡]|[áéíóú]\w*")
# Spanish endings of verbs and nouns that English words of that length rarely have
_SPANISH_ENDINGS = ("ando", "iendo", "ción", "cion", "iones", "ado", "ada", "ido", "ida", "amos")


@lru_cache(maxsize=4096)
def detect_language(text: str) -> str:
    """``es`` or ``en`` (the default, also for empty or undecidable texts)."""
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    spanish = sum(1 for w in words if w in _SPANISH)
    spanish += sum(1 for w in words if len(w) > 4 and w.endswith(_SPANISH_ENDINGS))
    english = sum(1 for w in words if w in _ENGLISH)
    # ñ, ¿, ¡ and accented words are strong Spanish cues in texts (English rarely has them)
    spanish += 2 * len(_SPANISH_MARKS.findall(text.lower()))
    return "es" if spanish > english else "en"
