from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/chat", tags=["chat"])


@router.get("/health")
async def health():
    return {"status": "ok"}
