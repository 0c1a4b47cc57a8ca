"""Status and failure labels in every language the tracking API speaks, and the choice of one."""

from __future__ import annotations

from shipnotify.model.status import AttemptFailure, Status

LANGUAGES = ("en", "ru", "ro")
DEFAULT = "en"

STATUS_LABELS: dict[str, dict[Status, str]] = {
    "en": {
        Status.REGISTERED: "Registered",
        Status.CONFIRMED: "Confirmed",
        Status.AWAITING_PICKUP: "Awaiting pickup",
        Status.PICKED_UP: "Picked up",
        Status.IN_TRANSIT: "In transit",
        Status.OUT_FOR_DELIVERY: "Out for delivery",
        Status.DELIVERY_ATTEMPTED: "Delivery attempted",
        Status.READY_FOR_COLLECTION: "Ready for collection",
        Status.DELIVERED: "Delivered",
        Status.RETURNED_TO_SENDER: "Returned to sender",
        Status.CANCELLED: "Cancelled",
    },
    "ru": {
        Status.REGISTERED: "Зарегистрировано",
        Status.CONFIRMED: "Подтверждено",
        Status.AWAITING_PICKUP: "Ожидает забора",
        Status.PICKED_UP: "Забрано курьером",
        Status.IN_TRANSIT: "В пути",
        Status.OUT_FOR_DELIVERY: "Передано курьеру для доставки",
        Status.DELIVERY_ATTEMPTED: "Попытка доставки не удалась",
        Status.READY_FOR_COLLECTION: "Готово к получению",
        Status.DELIVERED: "Доставлено",
        Status.RETURNED_TO_SENDER: "Возвращено отправителю",
        Status.CANCELLED: "Отменено",
    },
    "ro": {
        Status.REGISTERED: "Înregistrat",
        Status.CONFIRMED: "Confirmat",
        Status.AWAITING_PICKUP: "Așteaptă ridicarea",
        Status.PICKED_UP: "Preluat de curier",
        Status.IN_TRANSIT: "În tranzit",
        Status.OUT_FOR_DELIVERY: "În curs de livrare",
        Status.DELIVERY_ATTEMPTED: "Încercare de livrare eșuată",
        Status.READY_FOR_COLLECTION: "Gata de ridicare",
        Status.DELIVERED: "Livrat",
        Status.RETURNED_TO_SENDER: "Returnat expeditorului",
        Status.CANCELLED: "Anulat",
    },
}

FAILURE_LABELS: dict[str, dict[AttemptFailure, str]] = {
    "en": {
        AttemptFailure.RECIPIENT_ABSENT: "Nobody was there to receive it",
        AttemptFailure.ADDRESS_INCORRECT: "The address could not be found",
        AttemptFailure.REFUSED: "Delivery was refused",
        AttemptFailure.NO_ACCESS: "The courier could not get access",
        AttemptFailure.BUSINESS_CLOSED: "The business was closed",
        AttemptFailure.OTHER: "Another reason",
    },
    "ru": {
        AttemptFailure.RECIPIENT_ABSENT: "Получателя не было на месте",
        AttemptFailure.ADDRESS_INCORRECT: "Адрес не найден",
        AttemptFailure.REFUSED: "Получатель отказался",
        AttemptFailure.NO_ACCESS: "Курьер не смог попасть по адресу",
        AttemptFailure.BUSINESS_CLOSED: "Организация была закрыта",
        AttemptFailure.OTHER: "Другая причина",
    },
    "ro": {
        AttemptFailure.RECIPIENT_ABSENT: "Destinatarul nu a fost găsit",
        AttemptFailure.ADDRESS_INCORRECT: "Adresa nu a putut fi găsită",
        AttemptFailure.REFUSED: "Livrarea a fost refuzată",
        AttemptFailure.NO_ACCESS: "Curierul nu a avut acces",
        AttemptFailure.BUSINESS_CLOSED: "Firma era închisă",
        AttemptFailure.OTHER: "Alt motiv",
    },
}


def negotiate(accept_language: str | None) -> str:
    """The best of LANGUAGES for an Accept-Language header (RFC 9110 q-values)."""
    best, best_q = DEFAULT, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best
